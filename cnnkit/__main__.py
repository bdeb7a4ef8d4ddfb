"""`python -m cnnkit` is the same as the `cnnkit` console script."""

from cnnkit.cli import main

if __name__ == "__main__":
    main()
