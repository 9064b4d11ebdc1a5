class TrainError(Exception):
    """A problem with the input (a path, an option): the message names it and says how to fix it."""
