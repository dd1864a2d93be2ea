"""Thesis command line: ``python train_gan.py DATABASE`` (see ``tfmat train-gan --help``)."""
import sys

from tfmat.cli import run

if __name__ == "__main__":
    run(["train-gan", *sys.argv[1:]])
