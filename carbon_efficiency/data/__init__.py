"""The factor library's shipped data (JSON): every row names its source document, year and validity."""
