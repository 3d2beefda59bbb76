"""customer-mdm: customer master data for financial CRM."""

__version__ = "0.1.0"
