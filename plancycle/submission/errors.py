"""The one error a submission step raises; its message says what to do."""


class SubmissionError(Exception):
    """Submission cannot go ahead; the message says what to do."""
