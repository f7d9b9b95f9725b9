"""Screens assembled from data and blocks: the contact list and the contact modal."""
