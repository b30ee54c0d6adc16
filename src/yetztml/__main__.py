"""``python -m yetztml``: the same command line as the ``yetztml`` script."""

import sys

from .cli.main import main

sys.exit(main())
