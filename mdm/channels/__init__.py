"""Channels: the channels.yaml configuration and the readers of each channel's files and tables."""
