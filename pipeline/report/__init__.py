"""The static HTML report of a run: a batch page and one page per episode (speaker timeline, transcript with
entities, figures and dedup removals, summary, audio player), self-contained and with every record string escaped."""

from pipeline.report.site import INDEX_PAGE, ReportError, ReportResult, page_name, write_report

__all__ = ["INDEX_PAGE", "ReportError", "ReportResult", "page_name", "write_report"]
