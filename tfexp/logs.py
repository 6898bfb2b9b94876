"""Console logging that keeps tracebacks out of the user's way (the log file has them)."""

import logging


class ConsoleFormatter(logging.Formatter):
    """Formats the message without ``exc_info``, leaving the record intact for the file."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info = record.exc_text = None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = saved
