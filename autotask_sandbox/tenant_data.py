"""Vocabulary of the generated MSP tenant: picklists, UDF definitions, names and phrases.

Picklist bases follow the values Autotask ships (status 1 = New, 5 = Complete, ...); the
generator adds seeded tenant-specific values (queues, issue types) on top, so every seed has its
own picklists, stored in the tenant file and served from there.
"""

from __future__ import annotations

# (entity, field) -> [(value, label)]; fixed system values shipped by Autotask.
SYSTEM_PICKLISTS: dict[tuple[str, str], list[tuple[int, str]]] = {
    ("Tickets", "status"): [(1, "New"), (5, "Complete"), (7, "Waiting Customer"),
                            (8, "In Progress"), (9, "Waiting Materials"), (10, "Scheduled"),
                            (11, "Escalate"), (12, "Waiting Vendor")],
    ("Tickets", "priority"): [(1, "High"), (2, "Medium"), (3, "Low"), (4, "Critical")],
    ("Tickets", "ticketType"): [(1, "Service Request"), (2, "Incident"), (3, "Problem"),
                                (4, "Change Request"), (5, "Alert")],
    ("Tickets", "source"): [(-1, "Insourced"), (1, "Other"), (2, "Phone"), (4, "Email"),
                            (6, "Client Portal"), (8, "Monitoring Alert"), (11, "Web Portal")],
    ("Tickets", "ticketCategory"): [(2, "Standard"), (3, "AEM Alert"), (4, "Change"),
                                    (5, "Internal")],
    ("Companies", "companyType"): [(1, "Customer"), (2, "Lead"), (3, "Prospect"), (4, "Dead"),
                                   (6, "Cancellation"), (7, "Vendor"), (8, "Partner")],
    ("TicketNotes", "noteType"): [(1, "Task Summary"), (2, "Task Detail"), (3, "Task Notes"),
                                  (13, "Client Portal Note"), (18, "Workflow Rule Action Note")],
    ("TicketNotes", "publish"): [(1, "All Autotask Users"), (2, "Internal Only")],
    ("Projects", "status"): [(0, "Inactive"), (1, "New"), (2, "Active"), (5, "Complete"),
                             (8, "On Hold")],
    ("Projects", "projectType"): [(1, "Template"), (4, "Client"), (5, "Internal"),
                                  (8, "Baseline")],
    ("Tasks", "status"): [(1, "New"), (5, "Complete"), (8, "In Progress"), (9, "Waiting")],
    ("Contracts", "contractType"): [(1, "Time and Materials"), (3, "Block Hours"),
                                    (4, "Retainer"), (6, "Per Ticket"),
                                    (7, "Recurring Service"), (8, "Fixed Price")],
    ("Contracts", "status"): [(0, "Inactive"), (1, "Active")],
    ("Opportunities", "status"): [(0, "Inactive"), (1, "Active"), (2, "Lost"), (3, "Closed"),
                                  (4, "Implemented")],
    ("Opportunities", "stage"): [(1, "Qualification"), (2, "Needs Analysis"),
                                 (3, "Proposal"), (4, "Negotiation"), (5, "Closed")],
    ("TimeEntries", "timeEntryType"): [(2, "Ticket"), (6, "Task"), (7, "Regular")],
}

QUEUE_POOL = ["Client Portal", "Post Sale", "Monitoring Alert", "Level I Support",
              "Level II Support", "Projects Queue", "Recurring Tickets", "Triage",
              "Escalations", "Onboarding", "Security Operations", "Procurement"]

ISSUE_POOL: dict[str, list[str]] = {
    "Hardware": ["Desktop", "Laptop", "Printer", "Server", "Network Device"],
    "Software": ["Install", "Licensing", "Office 365", "Line of Business App", "Update"],
    "Network": ["Connectivity", "Firewall", "VPN", "Wireless", "DNS"],
    "Account": ["Password Reset", "New User", "Offboarding", "Permissions"],
    "Backup": ["Failed Job", "Restore Request", "Retention"],
    "Security": ["Phishing", "Malware", "MFA", "Vulnerability"],
    "Email": ["Delivery", "Spam", "Mailbox", "Calendar"],
    "Telephony": ["Handset", "Voicemail", "Call Routing"],
}

# entity -> [(name, type, picklist labels or None)]; type is the UDF `type` of the metadata.
UDFS: dict[str, list[tuple[str, str, list[str] | None]]] = {
    "Companies": [("Customer Ranking", "string", ["Golden", "Silver", "Bronze"]),
                  ("Number of Employees", "double", None),
                  ("Contract Renewal Date", "datetime", None),
                  ("Account Notes", "string", None)],
    "Contacts": [("Preferred Channel", "string", ["Email", "Phone", "Portal"]),
                 ("Satisfaction Score", "double", None),
                 ("Last Review Date", "datetime", None),
                 ("Nickname", "string", None)],
    "Tickets": [("Root Cause", "string", ["User Error", "Hardware Fault", "Software Bug",
                                          "Configuration", "Unknown"]),
                ("Customer Impact Score", "double", None),
                ("Follow Up Date", "datetime", None),
                ("External Reference", "string", None)],
}

COMPANY_WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Tyrell",
                 "Cyberdyne", "Soylent", "Hooli", "Vandelay", "Aperture", "Black Mesa", "Oscorp",
                 "Massive Dynamic", "Pied Piper", "Dunder", "Gringotts", "Monarch", "Nakatomi",
                 "Zorg", "Blue Sun", "Weyland", "Rekall", "Virtucon", "Prestige", "Sirius"]
COMPANY_SUFFIX = ["Industries", "Logistics", "Dental", "Law Group", "Holdings", "Labs",
                  "Manufacturing", "Partners", "Clinic", "Foods", "Architects", "Realty",
                  "Consulting", "Accounting", "Schools", "Motors"]
FIRST_NAMES = ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Robin",
               "Avery", "Quinn", "Drew", "Harper", "Rowan", "Emerson", "Parker", "Sasha", "Kai",
               "Noa", "Eli", "Maya", "Lena", "Omar", "Priya", "Chen", "Ines", "Tomas", "Yuki"]
LAST_NAMES = ["Smith", "Garcia", "Nguyen", "Okafor", "Kowalski", "Muller", "Rossi", "Tanaka",
              "Silva", "Dubois", "Haddad", "Larsen", "Novak", "Brennan", "Ortiz", "Patel",
              "Schmidt", "Ivanova", "Jensen", "Moreau", "Costa", "Reyes", "Walsh", "Yilmaz"]
CITIES = [("Springfield", "IL"), ("Riverside", "CA"), ("Franklin", "TN"), ("Greenville", "SC"),
          ("Bristol", "CT"), ("Madison", "WI"), ("Georgetown", "TX"), ("Salem", "OR"),
          ("Fairview", "NJ"), ("Clinton", "MA"), ("Arlington", "VA"), ("Dover", "DE")]
STREETS = ["Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Park Blvd", "Lake Rd", "Hill St",
           "Elm St", "Pine Ct", "Washington Ave", "Commerce Way", "Industrial Pkwy"]
TICKET_SUBJECTS = ["Cannot connect to VPN", "Printer offline", "New user setup",
                   "Password reset request", "Outlook keeps crashing", "Server disk space low",
                   "Backup job failed", "Slow network in office", "Phishing email reported",
                   "License renewal", "Install accounting software", "Laptop battery swelling",
                   "Wi-Fi drops in conference room", "Firewall firmware update",
                   "Shared drive permissions", "MFA enrollment", "Monitor flickering",
                   "Mailbox full", "Antivirus alert", "Replace network switch"]
NOTE_PHRASES = ["Called the user and confirmed the issue.", "Remote session started.",
                "Escalated to level II.", "Waiting on vendor response.",
                "Applied the latest patches.", "Rebooted the device, issue resolved.",
                "Scheduled an onsite visit.", "Customer confirmed the fix works.",
                "Collected logs for analysis.", "Replaced the faulty component."]
PROJECT_NAMES = ["Office 365 Migration", "Network Refresh", "Server Virtualisation",
                 "Security Hardening", "New Office Fit-out", "Backup Overhaul",
                 "Windows 11 Rollout", "VoIP Deployment", "Cloud Migration", "ERP Upgrade"]
TASK_NAMES = ["Kickoff", "Discovery", "Design", "Procurement", "Build", "Testing",
              "Pilot", "Cutover", "Training", "Handover"]
PRODUCT_WORDS = ["Managed Endpoint", "Managed Server", "Backup Seat", "Firewall Service",
                 "Email Security", "Helpdesk Block", "Cloud Hosting", "Network Monitoring"]
ROLES = ["Technician I", "Technician II", "Engineer", "Project Manager", "Account Manager",
         "Service Desk Lead", "Consultant"]
DEPARTMENTS = ["Service Desk", "Projects", "Sales", "Administration", "Network Operations"]
