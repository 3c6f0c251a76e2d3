"""Ticket printing: layout, ESC/POS rendering, PNG preview and delivery to printers.

Pure package: it takes plain data and knows nothing about the web app.
"""
