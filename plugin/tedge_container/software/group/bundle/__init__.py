"""Offline group bundles: the image archives under `images/` of a group archive.

- members.py: which members are image archives, read as streams (never unpacked);
- images.py: `Bundle`, inspecting and loading them into the engine, and giving names back;
- record.py: what a version's bundle brought, recorded, and pruned after an upgrade.

The path of one archive through an install goes one way: install -> archive/ (unpack the
project) -> bundle/ (load its images); bundle/ imports archive/, never the other way.
"""
