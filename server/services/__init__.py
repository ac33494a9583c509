"""Services: one area each, one transaction per act; they never import each other.

incidents     create, dispatch, divert, reassign, point-check, close, cancel; list and read
reviews       the review queue, resolving items (conflicts merge their heads)
bodycam       clip references, marked reviewed
board         the command center's open incidents with the feed cursor
reports       daily, monthly and quarterly clearance reports
overdue       the SLA watch: firing due clocks, backfilling and refreshing stored clocks
admin         bureaus, stations, people, devices (the command line and the demo)
directory     stations and people a caller may see
blobs         content-addressed attachments
dead_letters  ops that were refused, with the reason
agencies      linked agencies' duties (the responsibility list) and their ranking (§10)
"""
