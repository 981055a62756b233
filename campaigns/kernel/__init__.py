"""The shared kernel: facts about people's input that every domain uses the
same way (countries, regions, the normal form of text, email, phone and
names). It imports nothing from the rest of ``campaigns``."""
