"""``python -m stellar_ob`` runs the ``stellar-ob`` command."""

import sys

from stellar_ob.cli import main

sys.exit(main())
