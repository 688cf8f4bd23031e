"""One module per experiment; each has run() -> rows, plot() and main()."""
