"""Link: standardise, block and compare, the Fellegi-Sunter model, one-to-one assignment, households."""
