"""Demo data: an invented population of south Sefton (``manage.py load_demo``). Never in production."""
