"""Alert lifecycle: severities, transitions, events and their texts."""
