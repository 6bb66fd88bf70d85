class DataError(ValueError):
    """Bad QA input. The message names the file, the question id where there is one, and the fix."""

    def __init__(self, path, problem: str, fix: str = "", qid: str | None = None):
        self.path, self.problem, self.fix, self.qid = str(path), problem, fix, qid
        where = f"{path}" + (f", question {qid!r}" if qid else "")
        super().__init__(f"{where}: {problem}" + (f" — {fix}" if fix else ""))
