"""NDK digitisation packages (PSP, the National Library's standard for digitised volumes
and issues): checked by the standard's version and made a bag (`importer.transfer_ndk`)."""
