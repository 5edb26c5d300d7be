"""Who was seen when: appearances, report.html, and its check in a browser."""
