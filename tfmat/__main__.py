"""``python -m tfmat`` runs the ``tfmat`` command."""
import sys

from .cli import main

sys.exit(main())
