# Polish pages: day-first dates with dots (01.11.2026), as okeportal.formatting prints them;
# Django's own pl formats write short dates with hyphens (01-11-2026). Anything not set
# here (input formats, separators) comes from django.conf.locale.pl.
DATE_FORMAT = "d.m.Y"
SHORT_DATE_FORMAT = "d.m.Y"
DATETIME_FORMAT = "d.m.Y H:i"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
YEAR_MONTH_FORMAT = "F Y"
