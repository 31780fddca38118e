"""Tables of the situational-awareness products, one module per product."""

from awareness.models.sitreps import *  # noqa: F401,F403
from awareness.models.warnings import *  # noqa: F401,F403
from awareness.models.reviews import *  # noqa: F401,F403
from awareness.models.lessons import *  # noqa: F401,F403
