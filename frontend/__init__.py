"""The terminal front of the event generator: questions (questionary), progress and the summary
(rich).  ``event_generator.py`` puts them together; ``generator/`` never imports this package."""
