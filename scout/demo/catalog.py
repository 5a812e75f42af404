"""Static reference data for the demo: Philippine regions, store names, and a sari-sari catalogue that
covers every category and brand the persona rules name (and more)."""

REGIONS = (
    ("NCR", "Quezon City"), ("CAR", "Baguio"), ("Region I", "San Fernando"), ("Region II", "Tuguegarao"),
    ("Region III", "Angeles"), ("Region IV-A", "Calamba"), ("MIMAROPA", "Calapan"), ("Region V", "Legazpi"),
    ("Region VI", "Iloilo City"), ("Region VII", "Cebu City"), ("Region VIII", "Tacloban"),
    ("Region IX", "Zamboanga City"), ("Region X", "Cagayan de Oro"), ("Region XI", "Davao City"),
    ("Region XII", "General Santos"), ("Region XIII", "Butuan"), ("BARMM", "Cotabato City"), ("NIR", "Bacolod"),
)

OWNERS = ("Aling Nena", "Mang Tonyo", "Aling Niña", "Kuya Jun", "Ate Lorna", "Mang Berto", "Aling Pacing",
          "Tita Baby", "Mang Kanor", "Ate Joy", "Lola Pilar", "Kuya Dodong", "Aling Rosing", "Mang Isko",
          "Ate Mylene", "Tatay Ben")

# (product, brand, category, unit price in PHP)
PRODUCTS = (
    ("Lucky Me Pancit Canton", "Lucky Me", "Instant Noodles", 16.0),
    ("Payless Xtra Big", "Payless", "Instant Noodles", 14.5),
    ("Nissin Cup Noodles", "Nissin", "Instant Noodles", 28.0),
    ("Piattos Cheese", "Piattos", "Snacks", 20.0),
    ("Oishi Prawn Crackers", "Oishi", "Snacks", 12.0),
    ("Nova Multigrain", "Nova", "Snacks", 18.0),
    ("Pringles Original", "Pringles", "Chips", 65.0),
    ("Lays Classic", "Lays", "Chips", 35.0),
    ("Coke Mismo", "Coke", "Soft Drinks", 20.0),
    ("Pepsi 500ml", "Pepsi", "Soft Drinks", 25.0),
    ("Sprite 500ml", "Sprite", "Soft Drinks", 25.0),
    ("Royal Tru-Orange", "Royal", "Soft Drinks", 22.0),
    ("C2 Green Tea", "C2", "Beverages", 22.0),
    ("Zesto Juice", "Zesto", "Beverages", 10.0),
    ("Milo Sachet", "Nestle", "Beverages", 9.0),
    ("Tang Orange", "Tang", "Beverages", 21.0),
    ("Nescafe Classic Stick", "Nescafe", "Instant Coffee", 7.0),
    ("Great Taste White", "Great Taste", "Instant Coffee", 8.0),
    ("Kopiko Brown", "Kopiko", "Instant Coffee", 8.0),
    ("Skyflakes Crackers", "Skyflakes", "Biscuits", 8.0),
    ("Fita Biscuits", "Fita", "Biscuits", 9.0),
    ("Red Bull 250ml", "Red Bull", "Energy Drinks", 60.0),
    ("Monster Energy", "Monster", "Energy Drinks", 85.0),
    ("Cobra Energy", "Cobra", "Energy Drinks", 25.0),
    ("Marlboro Red (stick)", "Marlboro", "Tobacco Products", 9.0),
    ("Fortune (stick)", "Fortune", "Tobacco Products", 6.0),
    ("Bear Brand Sachet", "Bear Brand", "Milk", 14.0),
    ("Enfagrow Four", "Enfagrow", "Milk", 120.0),
    ("Alaska Evap", "Alaska", "Milk", 36.0),
    ("Pampers Baby Dry", "Pampers", "Personal Care", 15.0),
    ("Safeguard Bar", "Safeguard", "Soap", 45.0),
    ("Palmolive Shampoo Sachet", "Palmolive", "Shampoo", 7.0),
    ("Head & Shoulders Sachet", "Head & Shoulders", "Shampoo", 8.0),
    ("Colgate Toothpaste", "Colgate", "Personal Care", 38.0),
    ("Biogesic Tablet", "Unilab", "Health Products", 6.0),
    ("Neozep Tablet", "Unilab", "Health Products", 7.0),
    ("Datu Puti Vinegar", "Datu Puti", "Condiments", 18.0),
    ("Silver Swan Soy Sauce", "Silver Swan", "Condiments", 20.0),
    ("Ajinomoto Vetsin", "Ajinomoto", "Condiments", 5.0),
    ("Ligo Sardines", "Ligo", "Canned Goods", 24.0),
    ("CDO Meat Loaf", "CDO", "Canned Goods", 32.0),
    ("555 Tuna", "555", "Canned Goods", 30.0),
    ("Bigas (1 kg)", "NFA", "Rice", 52.0),
)

MOODS = ("Happy", "Neutral", "Rushed", "Satisfied", "Tired", "Curious")

FILLERS = ("pabili po", "magkano po ito", "salamat po", "meron pa ba", "sige po", "pakisuyo",
           "isa pa nga", "wala na po bang iba", "ok lang", "bukas ulit")
