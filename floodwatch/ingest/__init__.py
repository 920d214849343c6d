"""Sources and decoders: raw payloads in, `Reading`s (or reasons) out."""
