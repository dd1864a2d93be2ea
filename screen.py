"""Discovery pipeline: ``python screen.py [-n N] [--input FILE] ...`` (see ``--help``)."""
import sys

from tfmat.cli import run

if __name__ == "__main__":
    run(["screen", *sys.argv[1:]])
