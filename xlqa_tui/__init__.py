"""xlqa: the Textual dashboard over the results store and the job engine."""
