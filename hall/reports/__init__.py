"""Supervisor reports: queries over tickets and stages."""
