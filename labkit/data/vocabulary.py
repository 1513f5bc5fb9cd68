"""Words the generator draws from: fixed tuples, so every build sees them in the same order."""

from __future__ import annotations

from typing import Final

FIRST_NAMES: Final = (
    "Ada", "Alan", "Amara", "Ana", "Ben", "Bilal", "Carla", "Chen", "Dana", "Diego",
    "Elif", "Emil", "Erin", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan",
    "Jonas", "Julia", "Kai", "Kenji", "Lara", "Leon", "Lina", "Luca", "Maya", "Mateo",
    "Mei", "Mila", "Nadia", "Noah", "Nora", "Omar", "Priya", "Rafael", "Rosa", "Sami",
    "Sara", "Sofia", "Tariq", "Theo", "Uma", "Vera", "Wei", "Yara", "Yusuf", "Zoe",
)  # fmt: skip

LAST_NAMES: Final = (
    "Abe", "Adeyemi", "Alvarez", "Bauer", "Berg", "Costa", "Dubois", "Eriksen", "Fischer",
    "Garcia", "Haddad", "Ivanova", "Jensen", "Kim", "Kowalski", "Laine", "Lopez", "Mahmoud",
    "Meyer", "Moreau", "Nakamura", "Novak", "Okafor", "Olsen", "Patel", "Petrov", "Quinn",
    "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Sato", "Tanaka", "Torres", "Varga",
    "Wagner", "Walsh", "Weber", "Wong", "Yilmaz", "Zhang",
)  # fmt: skip

# (country code, weight): a few large markets and a long tail.
COUNTRIES: Final = (
    ("US", 30), ("DE", 12), ("GB", 10), ("IN", 10), ("FR", 8), ("BR", 6), ("JP", 5),
    ("CA", 4), ("ES", 3), ("IT", 3), ("NL", 2), ("SE", 2), ("PL", 2), ("NG", 1), ("KE", 1),
)  # fmt: skip

CATEGORY_WORDS: Final = (
    "Books", "Music", "Games", "Garden", "Kitchen", "Outdoor", "Office", "Toys", "Audio",
    "Cameras", "Phones", "Laptops", "Lighting", "Tools", "Sports", "Travel", "Pets", "Bikes",
    "Coffee", "Tea", "Art", "Crafts", "Fitness", "Baby", "Beauty", "Storage", "Bath",
    "Bedding", "Cycling", "Hiking",
)  # fmt: skip

CATEGORY_QUALIFIERS: Final = (
    "", "Vintage", "Smart", "Budget", "Premium", "Kids", "Pro", "Eco", "Travel", "Home",
)  # fmt: skip

PRODUCT_ADJECTIVES: Final = (
    "Compact", "Classic", "Rugged", "Silent", "Wireless", "Foldable", "Ceramic", "Bamboo",
    "Steel", "Modular", "Portable", "Deluxe", "Slim", "Heavy-duty", "Organic", "Recycled",
)  # fmt: skip

PRODUCT_NOUNS: Final = (
    "Kettle", "Lamp", "Backpack", "Speaker", "Notebook", "Chair", "Desk", "Bottle",
    "Headphones", "Keyboard", "Tent", "Mug", "Blender", "Drone", "Watch", "Jacket",
    "Grinder", "Router", "Pan", "Sneakers", "Helmet", "Planter", "Camera", "Charger",
)  # fmt: skip

TOPICS: Final = (
    "caching", "indexes", "async IO", "profiling", "pagination", "connection pools",
    "load testing", "compression", "serialisation", "rate limiting", "queues", "logging",
    "observability", "databases", "HTTP/2", "event loops", "memory leaks", "CPU flame graphs",
    "query plans", "batching", "retries", "timeouts", "streaming", "CDNs",
)  # fmt: skip

TITLE_TEMPLATES: Final = (
    "How we cut latency with {t}",
    "A gentle introduction to {t}",
    "What nobody tells you about {t}",
    "{t} in practice",
    "Lessons learned from {t} in production",
    "Why {t} matters more than you think",
    "Debugging {t}: a field guide",
    "Ten mistakes with {t}",
    "{t} versus {u}",
    "From {t} to {u}",
    "Notes on {t}",
    "The cost of {t}",
)  # fmt: skip

SENTENCES: Final = (
    "We measured before changing anything.",
    "The first profile surprised everyone on the team.",
    "Most of the time went into a loop nobody suspected.",
    "A single missing index explained the slow page.",
    "The fix took ten minutes; finding the cause took two days.",
    "Our p99 latency dropped once the queue stopped growing.",
    "Caching helped, until the invalidation bug appeared.",
    "We learned to read the query plan before adding hardware.",
    "The benchmark was wrong because it measured a warm cache.",
    "Batching the requests removed most of the round trips.",
    "Memory grew slowly for a week before anyone noticed.",
    "Compression saved bandwidth but cost CPU on small responses.",
    "The load test found the breaking point at a lower rate than expected.",
    "Every claim in this post was measured on a laptop.",
    "The database was fine; the client opened a new connection per request.",
    "A flame graph made the problem obvious in seconds.",
    "Pagination by offset got slower the deeper we went.",
    "We replaced the sort with a heap and moved on.",
    "Timeouts everywhere turned a slow dependency into a fast failure.",
    "The event loop was blocked by a JSON encode of a huge list.",
    "Nobody reads the logs until something breaks.",
    "Rate limits kept one noisy client from hurting everyone else.",
    "The numbers looked great in staging and terrible in production.",
    "We streamed the export instead of building it in memory.",
    "Median latency hides the users who wait the longest.",
    "Adding a second worker process doubled the throughput.",
    "The cache hit rate settled around eighty percent after warm-up.",
    "Counting queries per request was the most useful metric we added.",
    "This pattern is simple, boring and fast.",
    "Measure again after every change, not just at the end.",
    "The slow query only ran for one customer with huge data.",
    "We kept the old code path behind a flag for a week.",
)  # fmt: skip

COMMENT_OPENERS: Final = (
    "Great post!", "Thanks for sharing.", "Interesting.", "I disagree.", "Nice write-up.",
    "Same here.", "Very helpful.", "Hmm.", "Bookmarked.", "Good point.", "Not sure about this.",
    "Love it.", "Could you share the numbers?", "We hit the same issue.",
)  # fmt: skip

BIO_PARTS: Final = (
    "Backend engineer", "Data person", "Student", "SRE", "Hobbyist", "Tech lead",
    "Product manager", "Freelancer", "Researcher", "Teacher",
)  # fmt: skip

BIO_INTERESTS: Final = (
    "likes fast APIs", "into databases", "writes about performance", "loves profilers",
    "hates flaky tests", "runs a small shop", "learning Python", "coffee first",
    "cycling on weekends", "collects keyboards",
)  # fmt: skip
