"""Use cases that combine the layers below: processing queue and workers, importing, regeneration, compare.
No Qt: the UI turns the progress callbacks here into signals."""
