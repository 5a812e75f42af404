"""What the jobs tell the Azure portal: structured events, declared once (the workbook and alerts read them)."""
