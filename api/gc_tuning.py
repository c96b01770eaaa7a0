"""Keep the cyclic garbage collector away from the objects that live as long as the process."""

import gc
import logging

logger = logging.getLogger(__name__)

_frozen = False


def freeze_startup_objects() -> None:
    """Exclude the objects that exist at start-up from every later collection, once per process.

    Modules, the schema and the ORM's metadata are hundreds of thousands of objects that never
    become garbage, yet each full collection walks them all, which a request that happens to
    trigger one pays for as a latency spike.
    """
    global _frozen
    if _frozen:
        return
    gc.collect()
    gc.freeze()
    _frozen = True
    logger.info("Froze %s start-up objects out of the garbage collector", gc.get_freeze_count())
