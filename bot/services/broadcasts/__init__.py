"""Broadcasts: the service, the sender and its throttle, the scheduler, the delivery report."""
