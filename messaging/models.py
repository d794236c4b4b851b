"""SMS and email messaging; the models arrive with reminders (issue 3)."""
