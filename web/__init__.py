"""The steward workbench (`mdm serve`): server-rendered pages over mdm/stewardship/actions.py."""
