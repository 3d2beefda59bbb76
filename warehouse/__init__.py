"""The customer warehouse: tables (models.py), migrations, and every read and write of them."""
