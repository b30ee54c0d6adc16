"""Applications: pipelines where user data meets the library's models (text classification).

``experiments`` stays the papers' reproductions; ``apps`` is what a practitioner runs on their own data.
"""
