"""The UI's page groups, one Blueprint per module (see ``dataloader_sdk.ui``)."""
