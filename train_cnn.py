"""Thesis command line: ``python train_cnn.py --data_name MP --attribute band_gap ...`` (= ``tfmat train-cnn``)."""
import sys

from tfmat.cli import run

if __name__ == "__main__":
    run(["train-cnn", *sys.argv[1:]])
