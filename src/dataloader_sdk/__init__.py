"""dataloader-sdk: copy source tables into Delta Lake bronze tables, driven by a control DB."""
