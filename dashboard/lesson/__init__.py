"""The lesson: the hourglass trace, the quiz and the demo tour."""
