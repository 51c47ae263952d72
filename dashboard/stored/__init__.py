"""A stored patient's review and the worklist's stored figures: storage read, analysis applied.

Below the use cases (which decide who may look and write the audit row) and above analysis
(pure functions of frames) and storage (queries): neither of those imports the other's layer.
Nothing here checks access; every caller in the package is a use case that has.
"""
