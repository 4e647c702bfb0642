import sys

from amorph_core.cli import main

sys.exit(main())
