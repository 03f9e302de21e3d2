"""One repository per file, each reached from the unit of work (``uow.orders``, ``uow.chat``, …; ``storage.uow``)."""
