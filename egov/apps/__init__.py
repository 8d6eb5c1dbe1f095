"""The government-service applications (`egov apps`): releases built here from `apps_deploy/`,
shipped with fabric (`deploy`), rolled back, checked; `cli` holds the commands and the
applications' stage of `egov up`.
"""
