"""python -m tradepipe"""

import sys

from tradepipe.cli import main

sys.exit(main())
