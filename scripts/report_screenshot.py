#!/usr/bin/env python3
"""Render the HTML report of an output folder and save a PNG of one episode page, for the README.

What it does
    Writes the report as `pipeline report OUTPUT` does (into OUTPUT/<report.folder>, or --report DIR), opens one
    episode page in headless Chromium through Selenium (a window of --width x --height, 1280x900 by default) and
    saves what the window shows as a PNG. The episode is --episode ID, else the first audio episode that worked,
    else the first episode.

How to run (the project's venv; Debian's chromium and chromium-driver, and a Japanese font such as
fonts-noto-cjk or fonts-ipafont-gothic, else the text shows as boxes)
    .venv/bin/python scripts/report_screenshot.py outputs --png docs/report-episode.png
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.config import load_config  # noqa: E402
from pipeline.report import page_name, write_report  # noqa: E402
from pipeline.report.site import read_episodes  # noqa: E402


def chrome(width: int, height: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (binary and driver):
        sys.exit("needs chromium and chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                f"--window-size={width},{height}", "--force-device-scale-factor=1", "--lang=ja"):  # fmt: skip
        options.add_argument(arg)
    browser = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    # the window size includes the browser's own frame: the page itself gets exactly width x height
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip
    return browser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="output folder of a run (episodes.jsonl)")
    parser.add_argument("--report", type=Path, help="report folder (default: OUTPUT/<report.folder>)")
    parser.add_argument("--episode", help="episode id to show (default: the first audio episode that worked)")
    parser.add_argument("--png", type=Path, default=Path("docs/report-episode.png"), help="where the PNG goes")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()

    options = load_config().report
    folder = args.report or args.output / options.folder
    result = write_report(args.output, folder, options)
    episodes = read_episodes(args.output)
    chosen = next((e for e in episodes if e.episode_id == args.episode), None) if args.episode else next(
        (e for e in episodes if e.status == "ok" and e.source.kind == "audio"), episodes[0] if episodes else None)
    if chosen is None:
        sys.exit(f"no episode {args.episode!r} in {args.output}" if args.episode else f"no episodes in {args.output}")
    browser = chrome(args.width, args.height)
    try:
        browser.get((result.folder / page_name(chosen.episode_id)).resolve().as_uri())
        args.png.parent.mkdir(parents=True, exist_ok=True)
        args.png.write_bytes(browser.get_screenshot_as_png())
    finally:
        browser.quit()
    print(f"{chosen.episode_id} -> {args.png} ({args.png.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
