"""Who may log in and what each person may see."""
